/*
 * fuzz_usage.c: the usage ledger's readers on any bytes.  The first byte
 * picks one:
 *   0: exp_usage_read() of a ledger file (xenos-usage's reader);
 *   1: exp_usage_open() of a directory holding that file: the writer's
 *      recovery, which scans, truncates a torn tail, moves damage aside,
 *      replays records beyond the state;
 *   2: exp_usage_open() of a directory holding it as the state file.
 * The rest of the input is the file.
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include <xenos/exp_usage.h>

#include "fuzz.h"

static int on_rec(void *ctx, const struct exp_usage_rec *r, uint64_t off)
{
    (void)off;
    /* strings are NUL-terminated copies: read them all */
    *(size_t *)ctx += strlen(r->uuid) + strlen(r->host) +
                      strlen(r->tenant) + strlen(r->name);
    return 0;
}

static void on_damage(void *ctx, uint64_t off, uint64_t len, const char *why)
{
    (void)off;
    (void)len;
    *(size_t *)ctx += strlen(why);
}

/* Empty @dir (files only: the writer makes no subdirectories). */
static void clean(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[512];

    if ( !d )
        return;
    while ( (de = readdir(d)) )
        if ( de->d_name[0] != '.' )
        {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[128], path[256], err[512];
    struct exp_usage *w = NULL;
    size_t sum = 0;
    int rc;

    if ( size < 1 || data[0] > 2 )
        return 0;
    fuzz_path(dir, sizeof(dir), "ledger");
    if ( mkdir(dir, 0700) && errno != EEXIST )
        abort();
    clean(dir);
    snprintf(path, sizeof(path), "%s/%s", dir,
             data[0] == 2 ? "usage.state" : "usage-20251125T080000Z.xul");
    fuzz_put(path, data + 1, size - 1);
    if ( data[0] == 0 )
        (void)exp_usage_read(path, on_rec, on_damage, &sum, NULL);
    else
    {
        /* -EBADMSG: the state was damaged and moved aside, and the
         * writer is open all the same */
        rc = exp_usage_open(&w, dir, "fuzz", 60, 3600, err, sizeof(err));
        if ( rc == 0 || rc == -EBADMSG )
            (void)exp_usage_close(w);
    }
    return 0;
}
