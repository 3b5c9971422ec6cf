/*
 * Inside Xen, <stdint.h> is Xen's own types: the compiler's header would
 * define the same names a second time, differently spelt.  Xen has no
 * 64-bit limits, which host.h uses.
 */
#ifndef XENOS_XEN_STDINT_H
#define XENOS_XEN_STDINT_H

#include <xen/types.h>

#ifndef INT64_MAX
#define INT64_MAX   0x7fffffffffffffffLL
#endif
#ifndef INT64_MIN
#define INT64_MIN   (-INT64_MAX - 1)
#endif
#ifndef UINT64_MAX
#define UINT64_MAX  0xffffffffffffffffULL
#endif

#endif /* XENOS_XEN_STDINT_H */
