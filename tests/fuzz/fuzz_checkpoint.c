/*
 * fuzz_checkpoint.c: the collector's checkpoint reader
 * (acct_collector_alloc) on any bytes.  A checkpoint it accepts is written
 * back and must load again: what xenosd writes, it can read.
 *
 * The checkpoint ends with a CRC-32C of the rest ("end crc32c=..."), which
 * almost every mutation breaks, so the parser behind it would hardly be
 * reached: an input without that line gets a right one appended (inputs
 * with one are taken as they are, to test the check itself).
 */
#include <errno.h>

#include <xenos/acct.h>
#include <xenos/crc32c.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acct_collector *c;
    char path[128], bad[160], err[512];
    int rc;

    fuzz_path(path, sizeof(path), "checkpoint");
    snprintf(bad, sizeof(bad), "%s.corrupt", path);
    if ( !memmem(data, size, "\nend crc32c=", 12) )
    {
        uint8_t *b = malloc(size + 32);
        int n;

        if ( !b )
            abort();
        memcpy(b, data, size);
        n = snprintf((char *)b + size, 32, "end crc32c=%08x\n",
                     crc32c(0, data, size));
        fuzz_put(path, b, size + (size_t)n);
        free(b);
    }
    else
        fuzz_put(path, data, size);
    rc = acct_collector_alloc(&c, path, err, sizeof(err));
    if ( rc == 0 )
    {
        if ( acct_collector_checkpoint(c) )
            abort();
        acct_collector_free(c);
        if ( acct_collector_alloc(&c, path, err, sizeof(err)) )
        {
            fprintf(stderr, "own checkpoint refused: %s\n", err);
            abort();
        }
        acct_collector_free(c);
    }
    else if ( rc == -EBADMSG )
        acct_collector_free(c);
    unlink(path);
    unlink(bad);
    return 0;
}
