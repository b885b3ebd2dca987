@pod_loss
Feature: Losing pods loses no to-dos
  As the operator of the to-do service
  I want Kubernetes to replace every lost pod quickly
  So that users keep their to-dos and the service keeps answering

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a new user Alice with 3 to-dos

  Scenario: One back-end pod is stopped gracefully
    When one back-end pod is stopped gracefully
    Then the back end is back to 2 ready replicas within 30 seconds, with new pods in place of the lost ones
    And Alice still sees her 3 to-dos within 30 seconds

  Scenario: One back-end pod is killed immediately
    When one back-end pod is killed immediately
    Then the back end is back to 2 ready replicas within 30 seconds, with new pods in place of the lost ones
    And Alice still sees her 3 to-dos within 30 seconds

  Scenario: All back-end pods are killed at once
    When all back-end pods are killed at once
    Then the back end is back to 2 ready replicas within 90 seconds, with new pods in place of the lost ones
    And Alice still sees her 3 to-dos within 30 seconds

  Scenario: One front-end pod is killed
    When one front-end pod is killed immediately
    Then the front end is back to 2 ready replicas within 30 seconds, with new pods in place of the lost ones
    And Alice still sees her 3 to-dos within 30 seconds

  Scenario: The database pod is killed
    When the database pod is killed
    Then the database is back to 1 ready replica within 120 seconds, with new pods in place of the lost ones
    And Alice still sees her 3 to-dos within 60 seconds

  @kind_only
  Scenario: The database server process is killed abruptly
    When the database server is killed abruptly inside its container
    Then the database server is restarted in its pod and ready within 120 seconds
    And Alice still sees her 3 to-dos within 60 seconds
