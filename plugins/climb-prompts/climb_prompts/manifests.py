"""The three methods' manifests (plain data: importing this module imports no torch).

Every deviation from the papers is said in the manifests' ``description`` (what ``climb show`` prints)
and in the README; the defaults follow the official implementations named in each ``paper``.
"""

from __future__ import annotations

from typing import Any

from climb_harness.api import API_VERSION

#: What every method of this plugin shares (first paragraph of each description).
SETTING = (
    "Setting: the backbone is frozen (every encoder parameter; requires_grad False) and only prompts, keys "
    "(and CODA's attention vectors) and the task heads train. The query is the encoder's own plain output in "
    "eval mode without gradient (vl-minilm: mean text ; mean image outputs; ViLT: the pooled [CLS]), where "
    "the papers read a ViT's final [CLS] from a frozen copy of the pretrained model: with a frozen backbone "
    "that is the same forward. The prompted forward's pooled output feeds the task's head. Differences from "
    "the papers' class-incremental setting: the harness trains one head per task and picks it by the task "
    "(task-incremental), so there is no class mask and a wrong head cannot be chosen; prompt selection at "
    "evaluation stays task-agnostic (by key match), so a wrong key still costs accuracy. Training uses the "
    "harness's AdamW (CLiMB's betas, weight decay 0.01 on prompts and keys, linear warm-up and decay, "
    "training.lr, epochs and batch size, best epoch on the selection split) where the papers use Adam "
    "without weight decay (L2P and DualPrompt: constant lr 0.03 x batch/256, 5 epochs; CODA-Prompt: lr 1e-3 "
    "with a cosine schedule, 20 epochs). Randomness comes from generators seeded by the run's seed and the "
    "task."
)

#: Why layer defaults depend on the encoder (second paragraph where layers are chosen).
LAYERS = (
    "Layers are numbered among the encoder's promptable layers (prompt_layers), bottom-up: vl-minilm's fused "
    "layers (1 by default; MiniLM's lower layers run frozen in collate() and see no prompt), every ViLT "
    "layer. "
)

PAPER_L2P = (
    "Wang, Zhang, Lee, Zhang, Sun, Ren, Su, Perot, Dy & Pfister (2022), Learning to Prompt for Continual "
    "Learning, CVPR 2022, arXiv:2112.08654. Official code: github.com/google-research/l2p (JAX); defaults "
    "from its PyTorch port github.com/JH-LEE-KR/l2p-pytorch (split CIFAR-100: pool 10, length 5, top 5, "
    "lambda 0.1)."
)
PAPER_DUALPROMPT = (
    "Wang, Zhang, Ebrahimi, Sun, Zhang, Lee, Ren, Su, Perot, Dy & Pfister (2022), DualPrompt: Complementary "
    "Prompting for Rehearsal-free Continual Learning, ECCV 2022, arXiv:2204.04799. Official code: "
    "github.com/google-research/l2p; defaults from github.com/JH-LEE-KR/dualprompt-pytorch (G-prompt length "
    "5 in layers 0-1, E-prompt length 5 in layers 2-4, one per task, prefix-tuning, lambda 1)."
)
PAPER_CODA = (
    "Smith, Karlinsky, Gutta, Cascante-Bonilla, Kim, Arbelle, Panda, Feris & Kira (2023), CODA-Prompt: "
    "COntinual Decomposed Attention-based Prompting for Rehearsal-Free Continual Learning, CVPR 2023, "
    "arXiv:2211.13218. Official code: github.com/GT-RIPL/CODA-Prompt (100 components, length 8, layers 0-4, "
    "Gram-Schmidt initialisation per task; orthogonality weight 0.1 in its first release, 0.0 now)."
)


def _layers_option(what: str, default_rule: str) -> dict[str, Any]:
    return {
        "type": ["array", "null"],
        "items": {"type": "integer", "minimum": 0},
        "uniqueItems": True,
        "minItems": 1,
        "default": None,
        "description": f"Promptable layers (0 = the lowest) {what}; null: {default_rule}",
    }


_BATCHWISE = {
    "type": "boolean",
    "default": False,
    "description": "At evaluation, give every example of a batch the prompts chosen most often in that batch "
    "(the official code's batchwise_prompt). Off: each example's own match, as the papers' method states; "
    "on, a prediction depends on the other examples of its evaluation batch, which here all come from one "
    "task.",
}

L2P_MANIFEST: dict[str, Any] = {
    "name": "l2p",
    "api_version": API_VERSION,
    "summary": "Learning to Prompt: a pool of prompts with learnable keys; each input's top-N prompts by "
    "query-key cosine are prepended to a frozen encoder.",
    "description": (
        "Each sequence (one per view) takes the top_n prompts whose keys have the highest cosine similarity "
        "with its query; they are concatenated (top_n x prompt_length tokens) and inserted right after [CLS] "
        "at the input of the encoder's first promptable layer (prompt-tuning; the ViT of the paper: before "
        "layer 0). Selection is by key match in training too (no prompt mask, the paper's setting). Loss: "
        "the head's loss + key_loss_weight x the sum over the chosen keys of the batch mean of 1 - "
        "cos(query, key) (the official pull constraint); that term's gradient reaches only the chosen keys. "
        "Prompts and keys start uniform in [-1, 1] (official). Deviations: the head reads the encoder's "
        "pooled output, not L2P's default average of the prompt tokens' outputs (the encoder's pooling keeps "
        "hidden_size fixed); prompts get no position embedding (the official code gives them the [CLS]'s, a "
        "constant offset that a learnable prompt absorbs); prompts enter the encoder's first promptable "
        "layer, which for vl-minilm is its first fused layer, above 5 frozen MiniLM layers. \n\n" + SETTING
    ),
    "family": "other",
    "paper": PAPER_L2P,
    "requires": ["prompt-tuning"],
    "options": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "pool_size": {"type": "integer", "minimum": 1, "default": 10,
                          "description": "Prompts in the pool, M (official split CIFAR-100: 10)."},
            "prompt_length": {"type": "integer", "minimum": 1, "default": 5,
                              "description": "Tokens per prompt, L_p (official: 5)."},
            "top_n": {"type": "integer", "minimum": 1, "default": 5,
                      "description": "Prompts chosen per input, N (official: 5); at most pool_size."},
            "key_loss_weight": {"type": "number", "minimum": 0, "default": 0.1,
                                "description": "lambda of the key-matching loss (l2p-pytorch: 0.1; "
                                "google-research/l2p's config: 1.0)."},
            "batchwise_prompt": _BATCHWISE,
        },
    },
}

DUALPROMPT_MANIFEST: dict[str, Any] = {
    "name": "dualprompt",
    "api_version": API_VERSION,
    "summary": "DualPrompt: a shared general prefix in lower layers and one expert prefix per task, chosen "
    "by query-key match, on a frozen encoder.",
    "description": (
        "G-prompt: a prefix of g_prompt_length keys and g_prompt_length values in each layer of g_layers, "
        "shared by every task and trained throughout. E-prompts: one per task (the pool has one entry per "
        "task, as the official pool of 10 for 10 tasks), each a prefix of e_prompt_length keys and values in "
        "each layer of e_layers, with one learnable key per task. Prefixes are prepended to the layer's "
        "projected keys and values (prefix-tuning). Training (official use_prompt_mask): the current task's "
        "E-prompt is used, and its key is pulled towards the query by key_loss_weight x the batch mean of 1 "
        "- cos(query, key); the other tasks' E-prompts and keys are frozen (requires_grad False). "
        "Evaluation: each sequence takes the E-prompt whose key is most cosine-similar to its query, among "
        "the tasks learned so far (deviation: the official code matches over the whole pool, untrained keys "
        "included). A new task's E-prompt starts as a copy of the previous task's (official "
        "shared_prompt_pool); everything else starts uniform in [-1, 1]. In a layer holding both, the E- and "
        "G-prefixes are prepended side by side. " + LAYERS + "The paper's g_layers [0, 1] and e_layers "
        "[2, 3, 4] need 5 promptable layers; with fewer the defaults are: 1 layer (vl-minilm's default): "
        "both in layer 0, so 'general prompts below expert prompts' cannot hold; 2 to 4: g_layers [0], "
        "e_layers the rest (at most 3). \n\n" + SETTING
    ),
    "family": "parameter-isolation",
    "paper": PAPER_DUALPROMPT,
    "requires": ["prefix-tuning"],
    "options": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "g_prompt_length": {"type": "integer", "minimum": 1, "default": 5,
                                "description": "G-prompt prefix length per layer, for keys and for "
                                "values (official: 5)."},
            "e_prompt_length": {"type": "integer", "minimum": 1, "default": 5,
                                "description": "E-prompt prefix length per layer, for keys and for "
                                "values (official: 5)."},
            "g_layers": _layers_option("holding the G-prompt", "[0, 1] with 5 or more promptable layers, "
                                       "[0] with fewer."),
            "e_layers": _layers_option("holding the E-prompts", "[2, 3, 4] with 5 or more promptable layers, "
                                       "[0] with one, else layers 1 to min(3, layers - 1)."),
            "key_loss_weight": {"type": "number", "minimum": 0, "default": 1.0,
                                "description": "lambda of the key-matching loss (official: 1.0)."},
            "share_previous_prompt": {"type": "boolean", "default": True,
                                      "description": "Start each new task's E-prompt as a copy of the "
                                      "previous task's (official shared_prompt_pool); false: fresh uniform "
                                      "values."},
            "train_with_task_id": {"type": "boolean", "default": True,
                                   "description": "Train task t with E-prompt t (official use_prompt_mask); "
                                   "false: by key match as at evaluation."},
            "batchwise_prompt": _BATCHWISE,
        },
    },
}

CODA_MANIFEST: dict[str, Any] = {
    "name": "coda-prompt",
    "api_version": API_VERSION,
    "summary": "CODA-Prompt: prompts as attention-weighted sums of components, orthogonal and added per task "
    "(earlier ones frozen), as prefixes of a frozen encoder.",
    "description": (
        "In each layer of `layers`: components P_m (prompt_length x width), keys K_m and attention vectors "
        "A_m (query-wide). A sequence's prompt is p = sum_m alpha_m P_m with alpha_m = cos(q * A_m, K_m) "
        "(elementwise product, no softmax, as the official code); its first prompt_length/2 rows are the key "
        "prefix and the rest the value prefix. pool_size components are split evenly over the run's tasks: "
        "at task t's start its own components (P, K and A) are re-initialised by Gram-Schmidt, orthonormal "
        "to every earlier task's (trained, now frozen) component and to each other (the official online "
        "initialisation; deviation: new draws are projected on an orthonormal basis of the earlier "
        "components' span, so this holds exactly after training moved them, where the official code projects "
        "on each separately), and only they train in task t; earlier tasks' components are frozen "
        "(requires_grad False: no gradient, not in the optimizer) and later ones unused until their task. "
        "Evaluation uses every component up to the current task's. Orthogonality regulariser: ortho_weight x "
        "the sum over layers of mean((B B^T - I)^2) for B = K, A and the flattened P of the components in "
        "use, earlier ones as constants (official). No key loss: keys and attention learn through the task "
        "loss. " + LAYERS + "Default layers: the paper's [0..4], cut to the encoder's (vl-minilm by "
        "default: [0]). \n\n" + SETTING
    ),
    "family": "parameter-isolation",
    "paper": PAPER_CODA,
    "requires": ["prefix-tuning"],
    "options": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "pool_size": {"type": ["integer", "null"], "minimum": 1, "default": None,
                          "description": "Components over the whole run, split evenly over its tasks "
                          "(official: 100). null: min(100, query width, prompt_length x prompt width), "
                          "since no more vectors than their dimension can be orthogonal (100 on vl-minilm's "
                          "768-d query)."},
            "prompt_length": {"type": "integer", "minimum": 2, "multipleOf": 2, "default": 8,
                              "description": "Rows per component, half key prefix, half value "
                              "prefix (official: 8)."},
            "layers": _layers_option("holding prefixes", "[0, 1, 2, 3, 4] (official), cut to the encoder's "
                                     "promptable layers."),
            "ortho_weight": {"type": "number", "minimum": 0, "default": 0.1,
                             "description": "Weight of the orthogonality regulariser (0.1 in the paper's "
                             "release; the official code now uses 0.0, relying on the Gram-Schmidt "
                             "initialisation)."},
        },
    },
}
