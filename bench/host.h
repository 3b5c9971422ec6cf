/* host.h (bench): what bench/host.c exports to the benchmarks. */
#ifndef XENOS_BENCH_HOST_H
#define XENOS_BENCH_HOST_H

extern unsigned long bench_kicks;

#endif
