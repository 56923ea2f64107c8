"""The shipped style model's card: style.json (written by training) completed
with the measured quality and speed, and MODEL_CARD.md for people.

    tensorstage eval style --json docs/bench/style_eval.json
    tensorstage bench models --json docs/bench/models.json
    python -m models.style.card docs/bench/style_eval.json docs/bench/models.json
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {"style_ratio": 1.5, "content_ratio": 1.2, "temporal_ratio_moving": 0.5, "frames_to_settle": 2}


def complete(eval_path: Path, bench_path: Path, card_path: Path = HERE / "style.json") -> dict:
    card = json.loads(card_path.read_text())
    quality = json.loads(eval_path.read_text())
    speed = json.loads(bench_path.read_text())
    names = [s["name"] for s in card["styles"]]
    card["evaluation"] = {
        "command": "tensorstage eval style --json docs/bench/style_eval.json",
        "held_out_photos": quality["photos"],
        "per_style": {n: {k: round(quality[f"{n}_{k}"], 4) for k in
                          ("style_distance", "style_distance_teacher", "style_ratio", "content_distance",
                           "content_distance_teacher", "content_ratio", "psnr_to_teacher_db")} for n in names},
        "temporal_error_moving": {w: round(quality[f"temporal_error_moving_{w}"], 4)
                                  for w in ("teacher", "model", "model_stabilized")},
        "temporal_error_still_noise": {w: round(quality[f"temporal_error_still_noise_{w}"], 4)
                                       for w in ("teacher", "model", "model_stabilized")},
        "frames_to_settle_after_cut": quality["frames_to_settle_after_cut"],
    }
    card["speed"] = {
        "command": "tensorstage bench models --json docs/bench/models.json",
        **{k: round(v, 2) for k, v in speed.items() if k.startswith("style_") and isinstance(v, float)},
        "psnr_int8_vs_fp32_db": round(speed.get("psnr_int8_vs_fp32_db", float("nan")), 1),
        "psnr_fp16_vs_fp32_db": round(speed.get("psnr_fp16_vs_fp32_db", float("nan")), 1),
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card


def markdown(card: dict) -> str:
    ev, sp, tr = card["evaluation"], card["speed"], card["training"]
    rows = "\n".join(
        f"| {n} | {v['style_ratio']:.2f} | {v['content_ratio']:.2f} | {v['psnr_to_teacher_db']:.1f} |"
        for n, v in ev["per_style"].items())
    met = lambda ok: "met" if ok else "not met"  # noqa: E731
    style_ok = all(v["style_ratio"] <= TARGETS["style_ratio"] for v in ev["per_style"].values())
    content_ok = all(v["content_ratio"] <= TARGETS["content_ratio"] for v in ev["per_style"].values())
    moving = ev["temporal_error_moving"]
    temporal_ok = moving["model_stabilized"] <= TARGETS["temporal_ratio_moving"] * moving["teacher"]
    sources = "\n".join(f"- **{s['name']}**: {s['source']} ({s['licence']})" for s in card["styles"])
    return f"""# Style model card: `style.keras`, `style_int8.tflite`, `style_fp16.tflite`

{card['model']}; {card['parameters']:,} parameters, widths {card.get('channels', [16, 32, 64])},
{card['gflops_at_256']} GFLOP at 256x256. Inputs: {card['input']}.
Also `style_int8_192.tflite` and `style_int8_320.tflite` for the node's `resolution`.

## Styles and their sources

{sources}

The styles' images are used to compute the teacher's style vectors; the
generated ones are the project's own (Apache-2.0).

## Training

{tr['method']}. Content: {tr['content']}. {tr['steps']:,} steps of batch {tr['batch']}
in {tr['minutes']} minutes on {tr['machine']} (`tensorstage train style`). {tr.get('notes', '')}
Final loss:
{json.dumps(tr['final_loss'])}. Quantization: {card['quantization']}.

## Quality on {ev['held_out_photos']} held-out photos (`{ev['command']}`)

Ratios are this model's distance over the teacher's on the same photos
(EfficientNet-Lite0 Gram distance to the style image; feature distance to the photo).

| style | style distance ratio (target <= {TARGETS['style_ratio']}) | content ratio (target <= {TARGETS['content_ratio']}) | PSNR to the teacher dB |
| --- | --- | --- | --- |
{rows}

- Style distance: {met(style_ok)}. Content distance: {met(content_ok)}.
- Temporal error on synthetic pans and zooms (mean absolute, flow-warped):
  teacher {moving['teacher']}, model {moving['model']}, model with the run-time
  stabiliser {moving['model_stabilized']} (target: at most half of the same
  network without stabilisation and of the teacher, a per-frame network:
  {met(temporal_ok and moving['model_stabilized'] <= 0.5 * moving['model'])}). Still shot with sensor
  noise: {json.dumps(ev['temporal_error_still_noise'])}.
- Frames to settle after a cut (stabiliser on): {ev['frames_to_settle_after_cut']}
  (target <= {TARGETS['frames_to_settle']}: {met(ev['frames_to_settle_after_cut'] <= TARGETS['frames_to_settle'])}).

## Speed (`{sp['command']}`, one thread unless said)

- int8 256x256: p50 {sp.get('style_int8_256_1t_p50_ms')} ms, p95 {sp.get('style_int8_256_1t_p95_ms')} ms,
  {sp.get('style_int8_256_1t_fps')} fps; speedup vs `model.predict` {sp.get('style_int8_256_1t_speedup_vs_predict')}x,
  vs `tf.function` {sp.get('style_int8_256_1t_speedup_vs_tf_function')}x.
- int8 192: {sp.get('style_int8_192_1t_fps')} fps; int8 320: {sp.get('style_int8_320_1t_fps')} fps;
  float16 256: {sp.get('style_fp16_256_1t_fps')} fps.
- Fidelity against float32 on held-out photos: int8 {sp['psnr_int8_vs_fp32_db']} dB,
  float16 {sp['psnr_fp16_vs_fp32_db']} dB.
"""


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print("usage: python -m models.style.card EVAL_JSON BENCH_JSON", file=sys.stderr)
        return 2
    card = complete(Path(args[0]), Path(args[1]))
    (HERE / "MODEL_CARD.md").write_text(markdown(card))
    print(f"wrote {HERE / 'style.json'} and {HERE / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
