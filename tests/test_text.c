/*
 * test_text.c: writers of untrusted names: CSV cells (formulas
 * neutralised, bad UTF-8 replaced) and terminal text (bidi, zero-width
 * and control characters made visible).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <xenos/text.h>

#define FFFD "\xef\xbf\xbd"

static const struct {
    const char *in;
    int always;
    const char *out;
} csv_cases[] = {
    { "plain", 0, "plain" },
    { "plain", 1, "\"plain\"" },
    { "=1+2", 0, "\"'=1+2\"" },
    { "+1", 0, "\"'+1\"" },
    { "-2", 1, "\"'-2\"" },
    { "@SUM(A1:A2)", 0, "\"'@SUM(A1:A2)\"" },
    { "\tx", 0, "\"'\tx\"" },
    { "\rx", 0, "\"'\rx\"" },
    { "=HYPERLINK(\"http://x\",\"y\")", 0,
      "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"" },
    { "a=1", 0, "a=1" },                        /* only the first char */
    { "comma, \"q\" ", 0, "\"comma, \"\"q\"\" \"" },
    { "bad\xff utf8 \xc0\xaf cut\xe6\x97", 0,
      "bad" FFFD " utf8 " FFFD FFFD " cut" FFFD FFFD },
    { "\xc3\xbc \xe6\x97\xa5", 0, "\xc3\xbc \xe6\x97\xa5" },
    { "", 0, "" },
    { "", 1, "\"\"" },
};

START_TEST(test_text_csv_str)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    txt_csv_str(f, csv_cases[_i].in, csv_cases[_i].always);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_str_eq(buf, csv_cases[_i].out);
    free(buf);
}
END_TEST

static const struct {
    const char *in;
    const char *out;
} tty_cases[] = {
    { "plain \xc3\xbc", "plain \xc3\xbc" },
    { "a\\x01b", "a\\x01b" },                  /* escaped text unchanged */
    { "esc\x1b[2J", "esc\\x1b[2J" },
    { "tab\tnl\n", "tab\\x09nl\\x0a" },
    { "\xc2\x9b" "c1", "\\u009bc1" },
    { "evil\xe2\x80\xae" "fdp.exe", "evil\\u202efdp.exe" },    /* RLO */
    { "\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad",
      "\\u202a\\u202b\\u202c\\u202d" },
    { "\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9",
      "\\u2066\\u2067\\u2068\\u2069" },
    { "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "\\u200e\\u200f\\u061c" },
    { "a\xe2\x80\x8b" "b\xe2\x80\x8c\xe2\x80\x8d\xe2\x81\xa0\xef\xbb\xbf",
      "a\\u200bb\\u200c\\u200d\\u2060\\ufeff" },
    { "bad\xff", "bad\\xff" },
};

START_TEST(test_text_tty_escape)
{
    char buf[128];

    ck_assert_int_eq(txt_tty_escape(buf, sizeof(buf), tty_cases[_i].in), 0);
    ck_assert_str_eq(buf, tty_cases[_i].out);
}
END_TEST

START_TEST(test_text_tty_escape_no_space)
{
    char buf[8];

    /* "ab" fits, the 6-byte escape of U+202E does not: cut before it */
    ck_assert_int_eq(txt_tty_escape(buf, sizeof(buf), "ab\xe2\x80\xae"),
                     -ENOSPC);
    ck_assert_str_eq(buf, "ab");
    ck_assert_int_eq(txt_tty_escape(buf, 0, "ab"), -ENOSPC);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");

    tcase_add_loop_test(tc, test_text_csv_str, 0,
                        sizeof(csv_cases) / sizeof(csv_cases[0]));
    tcase_add_loop_test(tc, test_text_tty_escape, 0,
                        sizeof(tty_cases) / sizeof(tty_cases[0]));
    tcase_add_test(tc, test_text_tty_escape_no_space);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
