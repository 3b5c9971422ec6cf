/* Inside Xen, size_t, NULL and offsetof come from Xen's own headers. */
#ifndef XENOS_XEN_STDDEF_H
#define XENOS_XEN_STDDEF_H

#include <xen/types.h>
#include <xen/compiler.h>

#endif /* XENOS_XEN_STDDEF_H */
