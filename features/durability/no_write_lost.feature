@durability @slow @needs_sql_reconciliation @needs_completed_flag
Feature: No acknowledged write is ever lost
  As a user of the to-do service
  I want every to-do the service confirmed to stay stored, exactly once, with every change it confirmed
  So that I can trust a confirmation even while parts of the service fail

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a writer that keeps adding uniquely named to-dos through the front end

  Scenario: Writes made while pods and the database fail are all kept
    When these faults happen one after another, each followed by recovery within 180 seconds:
      | fault                                  | longest outage |
      | one back-end pod is killed immediately | 10 seconds     |
      | one back-end pod is stopped gracefully | 10 seconds     |
      | the database pod is killed             | 60 seconds     |
      | all back-end pods are killed at once   | 60 seconds     |
    And the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And every completion and deletion the app confirmed holds
    And no to-do is stored that was never written
    And no to-do is stored twice

  @kind_only
  Scenario: Writes made while the database server crashes and workers, the database's among them, are lost are all kept
    Given the app's replicas are spread over both workers
    When these faults happen one after another, each followed by recovery within 240 seconds:
      | fault                                                       | longest outage |
      | the database server is killed abruptly inside its container | 60 seconds     |
      | a worker node hosting back-end replicas is stopped          | 30 seconds     |
      | the stopped node is started again                           | 10 seconds     |
      | the worker node holding the database is stopped             | 240 seconds    |
      | the stopped node is started again                           | 120 seconds    |
    And the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And every completion and deletion the app confirmed holds
    And no to-do is stored that was never written
    And no to-do is stored twice
