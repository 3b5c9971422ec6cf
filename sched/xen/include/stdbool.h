/* Inside Xen, <stdbool.h> is Xen's. */
#ifndef XENOS_XEN_STDBOOL_H
#define XENOS_XEN_STDBOOL_H

#include <xen/stdbool.h>

#endif /* XENOS_XEN_STDBOOL_H */
