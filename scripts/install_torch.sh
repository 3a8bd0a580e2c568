#!/usr/bin/env bash
# Install PyTorch into the given Python environment without pulling a multi-GB
# CUDA build onto a machine that has no GPU.
#   - torch already importable: keep it.
#   - NVIDIA GPU present: the default (CUDA) wheel from PyPI.
#   - CPU only: a CPU wheel lying in a local wheel folder (PIP_FIND_LINKS or
#     /opt/wheels), else PyTorch's CPU-only index.
set -euo pipefail
PY="${1:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"

if "$PY" -c "import torch" 2>/dev/null; then
  echo "torch $("$PY" -c 'import torch; print(torch.__version__)') already installed"
  exit 0
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "GPU found: installing torch==${TORCH_VERSION} (CUDA build)"
  exec "$PY" -m pip install -q "torch==${TORCH_VERSION}"
fi
for dir in ${PIP_FIND_LINKS:-} /opt/wheels; do
  if compgen -G "${dir}/torch-${TORCH_VERSION}+cpu-*.whl" >/dev/null; then
    echo "CPU machine: installing the local CPU wheel of torch==${TORCH_VERSION} from ${dir}"
    exec "$PY" -m pip install -q --find-links "$dir" "torch==${TORCH_VERSION}+cpu"
  fi
done
echo "CPU machine: installing torch==${TORCH_VERSION} from PyTorch's CPU index"
exec "$PY" -m pip install -q "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu
