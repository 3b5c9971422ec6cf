/*
 * registry.c: the table of exporters, built from exporters.def, lookup by
 * name, and the options an exporter reads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xenos/exp.h>

const struct exp_ops *const exp_exporters[] = {
#define EXP_EXPORTER(name) &exp_ops_##name,
#include <xenos/exporters.def>
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

const char *exp_opt(const struct exp_env *env, const char *key,
                    const char *def)
{
    size_t nl = strlen(env->name), kl = strlen(key);
    const char *const *o;
    const char *v = def;

    for ( o = env->opts; o && *o; o++ )
        if ( !strncmp(*o, env->name, nl) && (*o)[nl] == '.' &&
             !strncmp(*o + nl + 1, key, kl) && (*o)[nl + 1 + kl] == '=' )
            v = *o + nl + 2 + kl;
    return v;
}

int exp_opt_dir(const struct exp_env *env, const char *key, const char *sub,
                char *buf, size_t len, const char **dir)
{
    const char *v = exp_opt(env, key, NULL);
    int n;

    if ( v && !strcmp(v, "off") )
        return EXP_OFF;
    if ( v )
    {
        *dir = v;
        return 0;
    }
    n = snprintf(buf, len, "%s/%s", env->state_dir, sub);
    if ( n < 0 || (size_t)n >= len )
        return -ENAMETOOLONG;
    *dir = buf;
    return 0;
}
