"""Shrinks a fuzz corpus to at most MAX_FILES files that keep as many edges as possible.

usage: python3 edge_cover.py CONTROL OUTDIR MAX_FILES MAX_BYTES

CONTROL is the control file of a libFuzzer merge over the corpus into an empty directory
(`<target binary> -merge=1 -use_counters=0 -use_cmp=0 -merge_control_file=CONTROL EMPTY CORPUS`).
Its `COV i …` lines give the edges that file i added to those of the files merged before it, so
they split the corpus's edges between the files. Files named `seed-*` (hand-written) are always
kept; then the file adding the most edges (the smaller one on a tie) is taken until MAX_FILES
files or MAX_BYTES bytes. The kept files are copied to OUTDIR. The edge count printed is a lower
bound (a kept file may cover edges credited to another); a second merge of OUTDIR prints the
exact one. See docs/fuzzing.md.
"""
import os
import shutil
import sys

ctl, outdir, max_files, max_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = open(ctl).read().split("\n")
n = int(lines[0])
files = lines[2 : 2 + n]
cov = {}
for line in lines[2 + n :]:
    parts = line.split()
    if len(parts) >= 2 and parts[0] == "COV":
        cov[int(parts[1])] = set(parts[2:])
all_edges = set().union(*cov.values()) if cov else set()
sizes = {i: os.path.getsize(files[i]) for i in cov}
covered = set()
picked = []
total = 0
remaining = dict(cov)
# Hand-written seeds are always kept.
for i in [i for i in remaining if os.path.basename(files[i]).startswith("seed-")]:
    picked.append(i)
    total += sizes[i]
    covered |= remaining.pop(i)
while remaining and len(picked) < max_files:
    best = max(remaining, key=lambda i: (len(remaining[i] - covered), -sizes[i]))
    gain = len(remaining[best] - covered)
    if gain == 0:
        break
    if total + sizes[best] > max_bytes:
        del remaining[best]
        continue
    picked.append(best)
    total += sizes[best]
    covered |= remaining.pop(best)
os.makedirs(outdir, exist_ok=True)
for i in picked:
    shutil.copy(files[i], os.path.join(outdir, os.path.basename(files[i])))
print(f"{len(picked)} files, {total} bytes, {len(covered)}/{len(all_edges)} edges")
