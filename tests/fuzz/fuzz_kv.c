/*
 * fuzz_kv.c: the "key = value" reader of xenosd --config (cfg_kv_next):
 * every setting it returns lies inside its line, and no line it accepts
 * is longer than CFG_KV_LINE_MAX.
 */
#include <xenos/cfg.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)data, size, "r");
    struct cfg_kv *kv;
    char *k, *v;

    if ( !f )
        return 0;                       /* size 0: glibc refuses */
    kv = malloc(sizeof(*kv));
    if ( !kv )
        abort();
    cfg_kv_init(kv, f, "fuzz.conf");
    while ( cfg_kv_next(kv, &k, &v) > 0 )
    {
        if ( !*k || strchr(k, '#') || strchr(v, '#') ||
             k < kv->line || v >= kv->line + sizeof(kv->line) )
            abort();
    }
    free(kv);
    fclose(f);
    return 0;
}
