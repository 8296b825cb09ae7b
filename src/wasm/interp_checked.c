/*
 * The interpreter that checks every memory access against the memory's
 * size: interp.c compiled again (see there for when it runs). With
 * SPRY_EXPLICIT_BOUNDS interp.c checks already and this file is empty.
 */
#if !SPRY_EXPLICIT_BOUNDS
#define INTERP_CHECKED_COPY 1
#include "interp.c"
#endif
