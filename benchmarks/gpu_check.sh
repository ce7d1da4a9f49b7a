#!/usr/bin/env bash
# One call on a GPU machine for the KION-scale figures (benchmarks/README.md, "On a GPU").
# From the repository root:  bash benchmarks/gpu_check.sh [extra kion_scale.py options]
# Writes env.txt, pytest.txt, kion_scale.log and kion_scale.json into $OUT (default gpu-out/).
# RecTools comes from wheels in .whl/ (see benchmarks/gpu_wheels.sh) when the machine is offline;
# without them kion_scale.py reports RecTools as not installed and measures everything else.
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
if compgen -G ".whl/*.whl" >/dev/null; then
  if $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/sasrec-bench-site .whl/*.whl; then
    export PYTHONPATH=/tmp/sasrec-bench-site${PYTHONPATH:+:$PYTHONPATH}
  else
    echo "installing .whl/ failed: the RecTools part will be skipped"
  fi
fi
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  echo "cpus: $(nproc)"
  $PY -c "import numpy, pandas, torch; print('numpy', numpy.__version__, 'pandas', pandas.__version__, 'torch', torch.__version__)"
  $PY -c "import rectools, pytorch_lightning as pl; print('rectools', rectools.__version__, 'lightning', pl.__version__)"
} 2>&1 | tee "$OUT/env.txt"
timeout "${PYTEST_TIMEOUT:-90}" $PY -m pytest -q -p no:cacheprovider tests/test_core_static_step.py 2>&1 | tee "$OUT/pytest.txt"
timeout "${BENCH_TIMEOUT:-420}" $PY benchmarks/kion_scale.py --device cuda --json "$OUT/kion_scale.json" "$@" 2>&1 | tee "$OUT/kion_scale.log"
