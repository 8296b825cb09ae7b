/* Spry: a serverless WebAssembly platform. Umbrella header for embedders. */
#ifndef SPRY_SPRY_H
#define SPRY_SPRY_H

#include "spry/error.h"

#define SPRY_VERSION_MAJOR  0
#define SPRY_VERSION_MINOR  1
#define SPRY_VERSION_PATCH  0
#define SPRY_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0". */
SPRY_API const char *spry_version(void);

#ifdef __cplusplus
}
#endif

#endif
