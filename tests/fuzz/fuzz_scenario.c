/*
 * fuzz_scenario.c: the simulator's scenario loader (sched/sim/scenario.c
 * and scenario_workload.c through common/cfg.c: libyaml, libcyaml, our
 * checks) on any bytes.
 */
#include <xenos/sim.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sim_scenario sc;
    char path[128], err[512];

    fuzz_path(path, sizeof(path), "s.yaml");
    fuzz_put(path, data, size);
    if ( sim_scenario_load(path, &sc, err, sizeof(err)) == 0 )
        sim_scenario_free(&sc);
    return 0;
}
