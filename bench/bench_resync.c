/*
 * bench_resync.c: the usage ledger reader against damage crafted to make
 * its resync slow.  The file is a ledger preamble and then MiB bytes of
 * the pattern 00 00 04 00: every fourth offset claims a frame of 256 KiB,
 * the next 1 KiB, so a reader that hashes each candidate afresh does
 * ~10^11 bytes of CRC for 4 MiB.  The figure is the CPU time of
 * exp_usage_read() on it (xenosd's recovery on open scans the same way),
 * and that it found no record and reported one damaged stretch.
 *
 * Usage: bench_resync [MIB] (default 4)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenos/exp_usage.h>

static int on_rec(void *ctx, const struct exp_usage_rec *r, uint64_t off)
{
    (void)r;
    (void)off;
    ++*(unsigned long *)ctx;
    return 0;
}

static void on_damage(void *ctx, uint64_t off, uint64_t len, const char *why)
{
    (void)ctx;
    printf("  damage at byte %" PRIu64 ", %" PRIu64 " bytes: %s\n", off, len,
           why);
}

int main(int argc, char **argv)
{
    static const unsigned char pat[4] = { 0x00, 0x00, 0x04, 0x00 };
    static const unsigned char pre[12] = "XENOSUL\n\1\0\0\0";
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 4, i, n;
    char path[] = "/tmp/xenos-resync-XXXXXX";
    unsigned long recs = 0;
    struct timespec a, b;
    unsigned char *buf;
    FILE *f;
    int fd, rc;

    n = mib << 20;
    buf = malloc(n);
    fd = mkstemp(path);
    if ( !buf || fd < 0 || !(f = fdopen(fd, "wb")) )
        return 1;
    for ( i = 0; i < n; i++ )
        buf[i] = pat[i % 4];
    if ( fwrite(pre, 1, sizeof(pre), f) != sizeof(pre) ||
         fwrite(buf, 1, n, f) != n || fclose(f) )
        return 1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    rc = exp_usage_read(path, on_rec, on_damage, &recs, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    unlink(path);
    free(buf);
    printf("resync: %zu MiB crafted ledger: %.3f s CPU, %lu records, "
           "rc %d\n", mib,
           (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
           recs, rc);
    return rc == -EBADMSG && recs == 0 ? 0 : 1;
}
