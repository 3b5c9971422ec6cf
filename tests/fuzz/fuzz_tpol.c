/*
 * fuzz_tpol.c: the tenant policy loader (policies/tpol.c through
 * common/cfg.c) on any bytes; a policy that loads is also asked for a
 * domain's tenant.
 */
#include <xenos/tpol.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct {
        const char *uuid, *name, *tenant_key;
    } d = {
        .uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f0",
        .name = "acme-web",
        .tenant_key = "acme",
    };
    struct tpol *p = NULL;
    char path[128], err[512];

    fuzz_path(path, sizeof(path), "p.yaml");
    fuzz_put(path, data, size);
    if ( tpol_load(path, &p, err, sizeof(err)) == 0 )
    {
        (void)tpol_tenant_of(p, d.uuid, d.tenant_key, d.name);
        tpol_free(p);
    }
    return 0;
}
