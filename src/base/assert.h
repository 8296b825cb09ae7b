/*
 * SPRY_ASSERT: invariants of Spry's own code (STYLE.md rule 7). Input from
 * guests or users never reaches an assertion; it gets an error. A failed
 * assertion prints the condition and location and aborts, in every build.
 */
#ifndef SPRY_BASE_ASSERT_H
#define SPRY_BASE_ASSERT_H

_Noreturn void spry_assert_fail(const char *cond, const char *file, int line);

#define SPRY_ASSERT(cond) ((cond) ? (void)0 : spry_assert_fail(#cond, __FILE__, __LINE__))

#endif
