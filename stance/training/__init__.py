"""Training: fine-tuning a stance model (`train`), distillation from teachers, and the mention finder."""
