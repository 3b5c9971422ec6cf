/*
 * options.c: the options an exporter reads (exp_opt, exp_opt_dir): what
 * every exporter is built against, apart from the registry that lists
 * them, so that one exporter's library stands alone (xenosctl graph links
 * the rrd exporter's and nothing else).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xenos/exp.h>

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
