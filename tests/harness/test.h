/*
 * Spry's test harness.
 *
 * TEST(suite, name) { ... } defines and registers a test. The runner executes
 * every test in its own process under a timeout, so a crash or hang fails one
 * test and not the run. ASSERT_* print the expression, file:line and both
 * values, then end the test process with a failure; they never return.
 */
#ifndef SPRY_TEST_H
#define SPRY_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spry_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    struct spry_test *next;
};

void spry_test_register(struct spry_test *test);

#define TEST(suite, name)                                                                          \
    static void test_##suite##__##name(void);                                                      \
    static struct spry_test test_entry_##suite##__##name = {#suite, #name, test_##suite##__##name, \
                                                            NULL};                                 \
    __attribute__((constructor)) static void test_register_##suite##__##name(void)                 \
    {                                                                                              \
        spry_test_register(&test_entry_##suite##__##name);                                         \
    }                                                                                              \
    static void test_##suite##__##name(void)

/* Failure reporters: print and end the test process (exit status 1). */
_Noreturn void test_fail_bool(const char *file, int line, const char *expr);
_Noreturn void test_fail_int(const char *file, int line, const char *a_expr, const char *op,
                             const char *b_expr, long long a, long long b);
_Noreturn void test_fail_uint(const char *file, int line, const char *a_expr, const char *op,
                              const char *b_expr, unsigned long long a, unsigned long long b);
_Noreturn void test_fail_str(const char *file, int line, const char *a_expr, const char *b_expr,
                             const char *a, const char *b);
_Noreturn void test_fail_ok(const char *file, int line, const char *expr, int rc);
_Noreturn void test_fail_mem(const char *file, int line, const char *a_expr, const char *b_expr,
                             size_t n, size_t at);
/* Ends the test as skipped (exit status 77) with a reason. */
_Noreturn void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int test_mem_diff(const void *a, const void *b, size_t n); /* index of first diff, or -1 */
bool test_str_eq(const char *a, const char *b);

/* Paths of the source tree and of the build directory (from the environment
 * the Makefile sets: SPRY_SRC_DIR, SPRY_BUILD_DIR); results are static. */
const char *test_src_path(const char *relative);
const char *test_build_path(const char *relative);
/* A fresh empty directory under the build dir, for this test process. */
const char *test_tmpdir(void);

#define ASSERT_TRUE(e)                              \
    do {                                            \
        if (!(e))                                   \
            test_fail_bool(__FILE__, __LINE__, #e); \
    } while (0)
#define ASSERT_FALSE(e) ASSERT_TRUE(!(e))

#define ASSERT_CMP_INT(a, op, b)                                    \
    do {                                                            \
        long long a_ = (long long)(a), b_ = (long long)(b);         \
        if (!(a_ op b_))                                            \
            test_fail_int(__FILE__, __LINE__, #a, #op, #b, a_, b_); \
    } while (0)
#define ASSERT_CMP_UINT(a, op, b)                                                      \
    do {                                                                               \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
        if (!(a_ op b_))                                                               \
            test_fail_uint(__FILE__, __LINE__, #a, #op, #b, a_, b_);                   \
    } while (0)
#define ASSERT_EQ_INT(a, b)  ASSERT_CMP_INT(a, ==, b)
#define ASSERT_NE_INT(a, b)  ASSERT_CMP_INT(a, !=, b)
#define ASSERT_LT_INT(a, b)  ASSERT_CMP_INT(a, <, b)
#define ASSERT_LE_INT(a, b)  ASSERT_CMP_INT(a, <=, b)
#define ASSERT_GT_INT(a, b)  ASSERT_CMP_INT(a, >, b)
#define ASSERT_GE_INT(a, b)  ASSERT_CMP_INT(a, >=, b)
#define ASSERT_EQ_UINT(a, b) ASSERT_CMP_UINT(a, ==, b)
#define ASSERT_NE_UINT(a, b) ASSERT_CMP_UINT(a, !=, b)
#define ASSERT_LE_UINT(a, b) ASSERT_CMP_UINT(a, <=, b)
#define ASSERT_LT_UINT(a, b) ASSERT_CMP_UINT(a, <, b)
#define ASSERT_GE_UINT(a, b) ASSERT_CMP_UINT(a, >=, b)
#define ASSERT_GT_UINT(a, b) ASSERT_CMP_UINT(a, >, b)
#define ASSERT_NULL(p)       ASSERT_CMP_UINT((uintptr_t)(p), ==, 0)
#define ASSERT_NOT_NULL(p)   ASSERT_CMP_UINT((uintptr_t)(p), !=, 0)

#define ASSERT_EQ_STR(a, b)                                    \
    do {                                                       \
        const char *a_ = (a), *b_ = (b);                       \
        if (!test_str_eq(a_, b_))                              \
            test_fail_str(__FILE__, __LINE__, #a, #b, a_, b_); \
    } while (0)

/* rc must be 0; on failure prints the SPRY_E* name of rc. */
#define ASSERT_OK(e)                                   \
    do {                                               \
        int rc_ = (e);                                 \
        if (rc_ != 0)                                  \
            test_fail_ok(__FILE__, __LINE__, #e, rc_); \
    } while (0)

#define ASSERT_EQ_MEM(a, b, n)                                           \
    do {                                                                 \
        int at_ = test_mem_diff((a), (b), (n));                          \
        if (at_ >= 0)                                                    \
            test_fail_mem(__FILE__, __LINE__, #a, #b, (n), (size_t)at_); \
    } while (0)

#endif
