/*
 * rrd_graph.c: drawing an RRD file of ours with librrd (exp_rrd.h).
 * Reading only, as rrd_find.c.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <rrd.h>

#include <xenos/exp_rrd.h>

int exp_rrd_graph(const char *file, const char *title, uint64_t since_s,
                  const char *png_out, const char *rrdcached,
                  unsigned int width, unsigned int height, char *err,
                  size_t errlen)
{
    /* ':' and '\' are special in librrd's arguments: escape them. */
    char efile[2 * PATH_MAX], etitle[1024], start[32], w[16], h[16];
    char defs[7][2 * PATH_MAX + 32];
    static const char *const ds[] = { "cpu", "mem", "disk_rd", "disk_wr",
                                      "net_rx", "net_tx" };
    const char *argv[64];
    rrd_info_t *info;
    size_t i, j;
    int n = 0;

    for ( i = j = 0; file[i] && j + 2 < sizeof(efile); i++ )
    {
        if ( file[i] == ':' || file[i] == '\\' )
            efile[j++] = '\\';
        efile[j++] = file[i];
    }
    efile[j] = '\0';
    for ( i = j = 0; title[i] && j + 2 < sizeof(etitle); i++ )
    {
        /* the title is escaped text already; keep it printable */
        etitle[j++] = (unsigned char)title[i] < 32 ? '?' : title[i];
    }
    etitle[j] = '\0';
    snprintf(start, sizeof(start), "end-%" PRIu64 "s", since_s);
    snprintf(w, sizeof(w), "%u", width ? width : 800);
    snprintf(h, sizeof(h), "%u", height ? height : 300);
    argv[n++] = "graph";
    argv[n++] = png_out;
    argv[n++] = "--imgformat";
    argv[n++] = "PNG";
    argv[n++] = "--start";
    argv[n++] = start;
    argv[n++] = "--end";
    argv[n++] = "now";
    argv[n++] = "--width";
    argv[n++] = w;
    argv[n++] = "--height";
    argv[n++] = h;
    argv[n++] = "--title";
    argv[n++] = etitle;
    argv[n++] = "--vertical-label";
    argv[n++] = "CPU %, bytes, bytes/s (log)";
    argv[n++] = "--logarithmic";
    argv[n++] = "--units=si";
    if ( rrdcached )
    {
        argv[n++] = "--daemon";
        argv[n++] = rrdcached;
    }
    for ( i = 0; i < 6; i++ )
    {
        snprintf(defs[i], sizeof(defs[i]), "DEF:%s=%s:%s:AVERAGE", ds[i],
                 efile, ds[i]);
        argv[n++] = defs[i];
    }
    argv[n++] = "CDEF:cpu_pct=cpu,100,*";
    argv[n++] = "CDEF:disk=disk_rd,disk_wr,+";
    argv[n++] = "CDEF:net=net_rx,net_tx,+";
    argv[n++] = "LINE2:cpu_pct#d62728:CPU % of one pCPU   ";
    argv[n++] = "GPRINT:cpu_pct:AVERAGE:avg %8.2lf";
    argv[n++] = "GPRINT:cpu_pct:MAX:max %8.2lf\\n";
    argv[n++] = "LINE2:mem#1f77b4:memory bytes         ";
    argv[n++] = "GPRINT:mem:AVERAGE:avg %8.2lf%s";
    argv[n++] = "GPRINT:mem:MAX:max %8.2lf%s\\n";
    argv[n++] = "LINE2:disk#2ca02c:disk read+write B/s  ";
    argv[n++] = "GPRINT:disk:AVERAGE:avg %8.2lf%s";
    argv[n++] = "GPRINT:disk:MAX:max %8.2lf%s\\n";
    argv[n++] = "LINE2:net#ff7f0e:network rx+tx B/s    ";
    argv[n++] = "GPRINT:net:AVERAGE:avg %8.2lf%s";
    argv[n++] = "GPRINT:net:MAX:max %8.2lf%s\\n";
    optind = 0;         /* librrd parses with getopt */
    rrd_clear_error();
    info = rrd_graph_v(n, (char **)argv);
    if ( !info || rrd_test_error() )
    {
        snprintf(err, errlen, "rrd graph: %s", rrd_get_error());
        rrd_clear_error();
        if ( info )
            rrd_info_free(info);
        return -EIO;
    }
    rrd_info_free(info);
    return 0;
}
