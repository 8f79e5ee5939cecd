"""Test databases: plan which to create, build them, share mirrors, give each worker its own."""
