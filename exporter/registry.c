/*
 * registry.c: the table of exporters and lookup by name.  The table is
 * the EXP_EXPORTER lines of exporters.def that CMake built (an exporter
 * whose library is missing, or turned off by XENOS_WITH_<NAME>=OFF, is
 * left out): exporters_built.def, generated into the build tree in
 * exporters.def's order.
 */
#include <string.h>

#include <xenos/exp.h>

const struct exp_ops *const exp_exporters[] = {
#define EXP_EXPORTER(name) &exp_ops_##name,
#include "exporters_built.def"
#undef EXP_EXPORTER
    NULL,
};

const struct exp_ops *exp_find(const char *name)
{
    const struct exp_ops *const *e;

    for ( e = exp_exporters; *e; e++ )
        if ( !strcmp((*e)->name, name) )
            return *e;
    return NULL;
}
