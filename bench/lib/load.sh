# The libraries of the load scripts, sourced once: helpers (common.sh), the servers
# (targets.sh), the wrk driver (wrk.sh) and the reports (report.sh). The caller sets BENCH_DIR.
# shellcheck shell=bash disable=SC2034  # BENCH_LIB and REPO_ROOT are read by the scripts
BENCH_LIB=$BENCH_DIR/lib
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
# shellcheck source=common.sh
source "$BENCH_LIB/common.sh"
# shellcheck source=targets.sh
source "$BENCH_LIB/targets.sh"
# shellcheck source=wrk.sh
source "$BENCH_LIB/wrk.sh"
# shellcheck source=report.sh
source "$BENCH_LIB/report.sh"
