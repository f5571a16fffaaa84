"""ME-VQA: a clip store's labels as the MEGC 2025 ME-VQA challenge's question-answer records
(:mod:`mepipe.vqa.records`), the FACS names its action-unit answers use
(:mod:`mepipe.vqa.facs`), and the challenge's scores of predicted answers
(:mod:`mepipe.vqa.score`). See docs/vqa.md.
"""

from .records import VQA_FILE, VqaExport, export_vqa
from .score import score_vqa

__all__ = ["VQA_FILE", "VqaExport", "export_vqa", "score_vqa"]
