/*
 * fuzz_xentrace.c: the xentrace recording reader (sched/sim/xentrace.c,
 * xenos-sim --from-xentrace) on any bytes: loaded for domains 0-7, and
 * what loads is reported and written out as a scenario.
 */
#include <stdio.h>

#include <xenos/xentrace.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xt_recording rec;
    char path[128], out[128], err[512];
    uint32_t dom;
    FILE *null;

    fuzz_path(path, sizeof(path), "rec.bin");
    fuzz_path(out, sizeof(out), "out");
    fuzz_put(path, data, size);
    for ( dom = 0; dom < 8; dom++ )
    {
        if ( xt_load(path, dom, 0, &rec, err, sizeof(err)) )
            continue;
        null = fopen("/dev/null", "w");
        if ( null )
        {
            xt_report_json(null, &rec);
            fclose(null);
        }
        xt_write_scenario(&rec, out, err, sizeof(err));
        xt_free(&rec);
    }
    return 0;
}
