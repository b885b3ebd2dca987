@durability @slow
Feature: No acknowledged write is ever lost
  As a user of the to-do service
  I want every to-do the service confirmed to stay stored, exactly once
  So that I can trust a confirmation even while parts of the service fail

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a writer that keeps adding uniquely named to-dos through the front end

  Scenario: Writes made while pods and the database fail are all kept
    When these faults happen one after another, each followed by recovery within 180 seconds:
      | fault                                   |
      | one back-end pod is killed immediately  |
      | one back-end pod is stopped gracefully  |
      | the database pod is killed              |
      | all back-end pods are killed at once    |
    And the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored that was never written
    And no to-do is stored twice

  @kind_only
  Scenario: Writes made while the database server crashes and a worker node is lost are all kept
    Given the app's replicas are spread over both workers
    When these faults happen one after another, each followed by recovery within 240 seconds:
      | fault                                              |
      | the database server is killed abruptly             |
      | a worker node hosting back-end replicas is stopped |
      | the stopped node is started again                  |
    And the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored that was never written
    And no to-do is stored twice
