#!/usr/bin/env bash
# Train and ship the five smaller image models one after another (resumable: rerun to continue).
# The large-latent VAE is trained the same way: gen train mnist-vae --out runs/mnist-vae
set -euo pipefail
cd "$(dirname "$0")/.."
for name in mnist-ae mnist-ae-2d mnist-dae mnist-sr mnist-vae-2d; do
  .venv/bin/gen train "$name" --out "runs/$name"
  .venv/bin/python scripts/ship_image.py "runs/$name" "$name" --note "${SHIP_NOTE:-}"
done
