// Filled in by the bad_input_test work item.
