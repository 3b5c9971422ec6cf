/*
 * registry.c: the table of policies, built from policies.def, and lookup by
 * name.  Adding a policy is its file plus one line in policies.def.
 */
#include <xenos/sched.h>

const struct sch_ops *const sch_policies[] = {
#define SCH_POLICY(name) &sch_ops_##name,
#include <xenos/policies.def>
#undef SCH_POLICY
    NULL,
};

static bool sch__streq(const char *a, const char *b)
{
    while ( *a && *a == *b )
    {
        a++;
        b++;
    }
    return *a == *b;
}

const struct sch_ops *sch_policy_find(const char *name)
{
    const struct sch_ops *const *p;

    for ( p = sch_policies; *p; p++ )
        if ( sch__streq((*p)->opt_name, name) )
            return *p;
    return NULL;
}
