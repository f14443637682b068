public enum SagasTestingPlaceholder {}
