/*
 * test_crc32c.c: CRC-32C against published check values, and the range
 * index (crc32c_index) against the plain CRC of the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <xenos/crc32c.h>

START_TEST(test_crc32c_check_value)
{
    /* RFC 3720 B.4 and the usual "123456789" check value */
    static const uint8_t zeros[32];

    ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xe3069283u);
    ck_assert_uint_eq(crc32c(0, zeros, sizeof(zeros)), 0x8a9136aau);
    ck_assert_uint_eq(crc32c(crc32c(0, "1234", 4), "56789", 5),
                      0xe3069283u);
}
END_TEST

/* Every range's CRC from the index equals crc32c() of its bytes: empty
 * ranges, ranges across index marks and across the power tables' step,
 * the whole buffer. */
START_TEST(test_crc32c_index_range)
{
    const size_t n = 70000;
    uint8_t *b = malloc(n);
    struct crc32c_index ix;
    uint32_t seed = 12345;
    size_t i;

    ck_assert_ptr_nonnull(b);
    for ( i = 0; i < n; i++ )
    {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
    ck_assert_int_eq(crc32c_index_init(&ix, b, n), 0);
    ck_assert_uint_eq(crc32c_index_range(&ix, 0, n), crc32c(0, b, n));
    ck_assert_uint_eq(crc32c_index_range(&ix, n, 0), 0);
    for ( i = 0; i < 3000; i++ )
    {
        size_t off, len;

        seed = seed * 1103515245u + 12345u;
        off = (seed >> 8) % n;
        seed = seed * 1103515245u + 12345u;
        len = i < 600 ? i % 300 : (seed >> 8) % (n - off + 1);
        if ( off + len > n )
            len = n - off;
        ck_assert_uint_eq(crc32c_index_range(&ix, off, len),
                          crc32c(0, b + off, len));
    }
    crc32c_index_deinit(&ix);
    free(b);
}
END_TEST

static Suite *crc32c_suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc");

    tcase_add_test(tc, test_crc32c_check_value);
    tcase_add_test(tc, test_crc32c_index_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(crc32c_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
