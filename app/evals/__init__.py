"""Eval suites: case files under ``evals/``, scored runs, compares of two prompt sets.

A manager writes cases (``cases``), ``tactful eval`` drafts each one with the
real ``DraftingPipeline`` (``runner``), every expectation is judged from the
pipeline's structured result (``scoring``), and ``--compare`` sets two prompt
sets side by side (``compare``) in the terminal (``terminal``) and in one
standalone HTML file (``html_report``).  ``importer`` turns stored complaints
and the replies agents sent into case files; ``rubric`` asks the model for an
opinion that is reported apart and never gates.
"""
