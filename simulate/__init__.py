"""Activity that tests the theory: pattern dynamics, trajectories, RNN training."""
