/*
 * fuzz_checkpoint.c: the collector's checkpoint reader
 * (acct_collector_init) on any bytes.  A checkpoint it accepts is written
 * back and must load again: what xenosd writes, it can read.
 */
#include <errno.h>

#include <xenos/acct.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct acct_collector c;
    char path[128], bad[160], err[512];
    int rc;

    fuzz_path(path, sizeof(path), "checkpoint");
    snprintf(bad, sizeof(bad), "%s.corrupt", path);
    fuzz_put(path, data, size);
    rc = acct_collector_init(&c, path, err, sizeof(err));
    if ( rc == 0 )
    {
        if ( acct_collector_checkpoint(&c) )
            abort();
        acct_collector_deinit(&c);
        if ( acct_collector_init(&c, path, err, sizeof(err)) )
        {
            fprintf(stderr, "own checkpoint refused: %s\n", err);
            abort();
        }
        acct_collector_deinit(&c);
    }
    else if ( rc == -EBADMSG )
        acct_collector_deinit(&c);
    unlink(path);
    unlink(bad);
    return 0;
}
