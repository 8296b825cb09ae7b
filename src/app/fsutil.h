/* Small file-system helpers shared by the app layer (fsutil.c). */
#ifndef SPRY_APP_FSUTIL_H
#define SPRY_APP_FSUTIL_H

/* Creates `dir` and its missing parents (mode 0755); an existing directory
 * is fine. Returns 0, SPRY_ETOOBIG (path over 4 KiB) or SPRY_EIO (errno
 * says why). */
int app_mkdir_p(const char *dir);

#endif
