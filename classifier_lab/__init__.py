"""Research and tooling code of the classifier, kept out of the runtime package.

``streams.classifier`` is the production path (what the worker, ``tension
classify`` and the benches run); it never imports this package and needs no
repository checkout.  Here live the parts that only development needs:

* ``corpus`` — reading labelled JSONL corpora (``seeds/corpus/`` of a checkout);
* ``evaluate`` — pure metric functions (per-category P/R/F1, direction accuracy);
* ``train`` — fits the learned layer and writes ``streams/classifier/weights.v1.json``
  (``python -m classifier_lab.train``, ``--check`` for ``make weights-check``);
* ``ml``, ``hybrid`` — the scikit-learn engines, baselines for reports;
* ``engines`` — a registry of every engine: the production ones, then these.
"""
