"""PyTorch step times on the GPU next to biocheck's: the paper's FCNet (784-1000-10), AlexNetMini and
ResNet-20 (32x32x3 inputs), batch 100, plain SGD, and the same with the reference package
bio_transformations (branch dev) applying its mechanisms after backward, as its documentation's loop does.

    PYTHONPATH=<reference checkout> python3 scripts/gpu_torch_bench.py --out torch.jsonl [--device cuda]

Writes one JSON line per model and variant: model, variant, device, step_ms (median, CUDA-synchronised),
first_step_ms, overhead_pct (against plain), or error when a variant fails (e.g. the reference package is
missing). Variants: plain; ref-fuzzy; ref-fuzzy+volume+crystallize; ref-all (+ rejuvenation every step).
"""
import argparse, json, statistics, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F


def fcnet():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 1000), nn.ReLU(), nn.Linear(1000, 10))


def alexnet_mini():
    def conv(cin, cout, k, s=1, p=0):
        return [nn.Conv2d(cin, cout, k, stride=s, padding=p), nn.ReLU6()]
    return nn.Sequential(*conv(3, 96, 11, 4, 5), nn.MaxPool2d(2), *conv(96, 256, 5, p=2), nn.MaxPool2d(2),
                         *conv(256, 256, 3, p=1), *conv(256, 384, 3, p=1), *conv(384, 384, 3, p=1),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(384, 384), nn.ReLU6(),
                         nn.Linear(384, 384), nn.ReLU6(), nn.Linear(384, 10))


class BasicBlock(nn.Module):
    """CIFAR ResNet block with the parameter-free shortcut (subsample, zero-pad the channels)."""
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1, self.n1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.c2, self.n2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.stride, self.pad = stride, cout - cin

    def forward(self, x):
        y = self.n2(self.c2(F.relu(self.n1(self.c1(x)))))
        s = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
        if self.pad:
            s = F.pad(s, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)


def resnet20():
    blocks, cin = [], 16
    for stage, width in enumerate((16, 32, 64)):
        for i in range(3):
            blocks.append(BasicBlock(cin, width, 2 if stage and not i else 1))
            cin = width
    return nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), *blocks,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


MODELS = {"fcnet": (fcnet, (784,)), "alexnetmini": (alexnet_mini, (3, 32, 32)), "resnet20": (resnet20, (3, 32, 32))}
# Reference variants: the mechanism methods called between backward and the optimizer step.
VARIANTS = {"plain": [], "ref-fuzzy": ["fuzzy_learning_rates"],
            "ref-fuzzy+volume+crystallize": ["fuzzy_learning_rates", "volume_dependent_lr", "crystallize"],
            "ref-all": ["fuzzy_learning_rates", "volume_dependent_lr", "crystallize", "rejuvenate_weights"]}


def time_variant(make, variant, x, y, steps, device):
    model = make()
    if variant != "plain":
        from bio_transformations import BioConverter
        model = BioConverter().convert(model)
    model = model.to(device)
    params = [p for n, p in model.named_parameters() if "bio_mod" not in n]
    opt = torch.optim.SGD(params, lr=1e-3)
    calls = [getattr(model, name) for name in VARIANTS[variant]]
    times = []
    for i in range(steps + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        for call in calls:
            call()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return times[0], statistics.median(times[2:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="torch.jsonl")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--models", default="fcnet,alexnetmini,resnet20")
    a = ap.parse_args()
    torch.manual_seed(0)
    info = {"device": a.device, "torch": torch.__version__,
            "gpu": torch.cuda.get_device_name(0) if a.device == "cuda" else None}
    with open(a.out, "w") as f:
        for name in a.models.split(","):
            make, dims = MODELS[name]
            x = torch.randn(a.batch, *dims, device=a.device)
            y = torch.randint(0, 10, (a.batch,), device=a.device)
            plain = None
            for variant in VARIANTS:
                rec = dict(info, model=name, variant=variant, batch=a.batch, steps=a.steps)
                try:
                    first, ms = time_variant(make, variant, x, y, a.steps, a.device)
                    plain = ms if variant == "plain" else plain
                    rec.update(first_step_ms=round(first, 3), step_ms=round(ms, 3),
                               overhead_pct=round(100 * (ms / plain - 1), 1) if plain else None)
                except Exception as e:  # report and go on with the next variant
                    rec["error"] = f"{type(e).__name__}: {e}"
                line = json.dumps(rec)
                print(line, flush=True)
                f.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
