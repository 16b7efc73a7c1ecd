"""The converter: proxy logs in, one training conversation per line out (`albicilla-conv`)."""
