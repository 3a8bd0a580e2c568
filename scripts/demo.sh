#!/usr/bin/env bash
# make demo: the whole job on the embedded seed data, as a new user runs it.
#   build → train (MiniLM, seed train article) → evaluate (held-out seed article) → predict (raw seed texts)
set -euo pipefail
VENV="${1:-.venv}"
BIN="$VENV/bin"
SEEDS="${STANCE_SEEDS:-../shared/seeds}"
RUN=minilm-seed
start=$(date +%s)

step() { printf '\n== %s ==\n' "$1"; }

step "1/5 build the dataset from data/articles"
"$BIN/stance-build"

step "2/5 train MiniLM-L6 on the seed training article"
"$BIN/stance-train" model=minilm data=seed train.epochs=6 run_name=$RUN

step "3/5 evaluate on the held-out seed article, beside the baselines"
"$BIN/stance-evaluate" model_dir=models/$RUN split=test

step "4/5 predict on the raw seed texts"
if [ -d "$SEEDS" ]; then
  "$BIN/stance-predict" model_dir=models/$RUN input="$SEEDS" output=outputs/predict/seeds.jsonl overwrite=true
else
  echo "no raw seed texts at $SEEDS (set STANCE_SEEDS=...); predicting on the labelled seed articles instead"
  "$BIN/stance-predict" model_dir=models/$RUN input=data/articles output=outputs/predict/seeds.jsonl overwrite=true
fi

step "5/5 report: the stance network of the seed articles, with its evidence"
"$BIN/stance-report" predictions=outputs/predict/seeds.jsonl output=outputs/report/seeds

cat <<DONE

== done in $(( $(date +%s) - start )) s ==
dataset:      data/processed/seed/  (stats.json: examples per split and label)
model:        models/$RUN/  (README.md model card, metrics.json, training_config.yaml)
evaluation:   outputs/evaluate/$RUN/seed-test/  (report.md, metrics.json, confusion.png)
predictions:  outputs/predict/seeds.jsonl, per-article summary outputs/predict/seeds.summary.json
report:       outputs/report/seeds/index.html  (edges.csv, network.png, evidence.jsonl, network.graphml)
DONE
