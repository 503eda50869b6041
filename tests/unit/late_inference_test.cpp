// Filled in by the late_inference_test work item.
