/*
 * xentrace.h: a real host's recording as a simulator workload.
 *
 * xt_load() reads the raw file `xentrace` writes in a Xen dom0 (per-pCPU
 * windows of trace records, each opened by a TRC_TRACE_CPU_CHANGE record,
 * times in TSC cycles) and follows each vCPU of one domain through its
 * runstate changes (TRC_SCHED_RUNSTATE_CHANGE, which `xentrace -e
 * 0x0002f000` records) as cycles: a wake, CPU time until it blocks, the
 * time blocked until the next wake.  Those cycles are what a `trace`
 * workload replays (docs/simulator.md, "Replaying a real host"):
 * xt_write_scenario() writes them as one trace file per vCPU and a
 * scenario that runs each vCPU alone on a pCPU of its own.
 *
 * The TSC rate is the recording's own: Xen's TRC_SCHED_SWITCH_INFPREV
 * records say in ns how long the vCPU they switch out ran, and the TSC
 * stamps of its runstate changes say it in cycles (xt_load's @tsc_khz 0);
 * or the caller states it.
 */
#ifndef XENOS_XENTRACE_H
#define XENOS_XENTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <xenos/sim.h>

/* One vCPU of the domain: its cycles and what the recording shows. */
struct xt_vcpu {
    unsigned int vcpu;
    /* The workload: (run_ns, block_ns) pairs, one per whole cycle (a wake
     * seen, its block and the next wake), in order. */
    sch_time_t *pairs;
    size_t nr_pairs;
    /* As struct sim_spread measures a replay: run bursts (first run after
     * a wake to the block) and sleeps (block to the next run), in ns. */
    sch_time_t *bursts, *sleeps;
    size_t nr_bursts, nr_sleeps, cap_bursts, cap_sleeps, cap_pairs;
    /* CPU time and wall time of the whole cycles (from each one's wake to
     * the next): busy fraction = run_ns / span_ns. */
    sch_time_t run_ns, span_ns;
};

struct xt_recording {
    uint32_t domid;
    uint64_t tsc_khz;
    int tsc_from_recording;     /* 1: measured from INFPREV; 0: stated */
    uint64_t records;           /* every record read */
    uint64_t lost;              /* TRC_LOST_RECORDS seen */
    unsigned int nr_vcpus;
    struct xt_vcpu *vcpus;      /* by vCPU id, those with a whole cycle */
};

/*
 * Read xentrace file @path and follow domain @domid's vCPUs; @tsc_khz is
 * the TSC rate, or 0 to measure it from the recording.  0 with *@out
 * filled (xt_free it); -ENOMEM; or a negative errno with a message in
 * @err ("FILE: byte N: what is wrong" for a malformed file, or why
 * nothing can be made of it: no such domain, no whole cycle, no rate).
 */
int xt_load(const char *path, uint32_t domid, uint64_t tsc_khz,
            struct xt_recording *out, char *err, size_t errlen);

void xt_free(struct xt_recording *rec);

/*
 * Write the workload into directory @dir (made if missing): for each
 * vCPU K, "dDOMIDvK.csv" (run_us,block_us lines), and "scenario.yaml"
 * running each as a 1-vCPU domain of that name pinned to a pCPU of its
 * own for the recording's span.  0, or a negative errno with the path in
 * @err.
 */
int xt_write_scenario(const struct xt_recording *rec, const char *dir,
                      char *err, size_t errlen);

/* The recording's figures as one JSON line: the TSC rate and where it
 * came from, records, lost records and per vCPU its cycles, span_ns,
 * run_ns, busy and bursts_ns, sleeps_ns as struct sim_spread's keys. */
int xt_report_json(FILE *f, const struct xt_recording *rec);

/* The spread of @n lengths @v (sorted in place): nearest-rank p50 and
 * p90, as the simulator's histogram gives them (but exact). */
void xt_spread(sch_time_t *v, size_t n, struct sim_spread *out);

#endif /* XENOS_XENTRACE_H */
