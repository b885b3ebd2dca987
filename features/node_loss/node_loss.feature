@node_loss @kind_only @slow
Feature: Losing a worker node loses no to-dos
  As the operator of the to-do service
  I want the replicas of a lost worker to move to the remaining one, and the worker to rejoin
  So that a machine failure does not take the service or the data with it

  Background:
    Given the to-do app is deployed on the suite's cluster
    And the app's replicas are spread over both workers
    And a new user Alice with 3 to-dos

  Scenario: A worker hosting application replicas is stopped and started again
    When a worker node hosting back-end replicas is stopped
    Then that node is reported not ready within 30 seconds
    And the back end and the front end serve from the remaining nodes within 60 seconds
    And Alice still sees her 3 to-dos within 30 seconds
    When the stopped node is started again
    Then that node is ready again within 120 seconds
    And every tier runs its desired number of ready replicas within 120 seconds

  Scenario: The worker holding the database is stopped and started again
    When the worker node holding the database is stopped
    Then that node is reported not ready within 30 seconds
    When the stopped node is started again
    Then that node is ready again within 120 seconds
    And the database is back to 1 ready replica within 180 seconds
    And Alice still sees her 3 to-dos within 60 seconds

  Scenario: A worker that hangs is noticed and its replicas are replaced
    When a worker node hosting back-end replicas hangs
    Then that node is reported not ready within 30 seconds
    And the back end and the front end serve from the remaining nodes within 60 seconds
    And Alice still sees her 3 to-dos within 30 seconds
    When the hung node recovers
    Then that node is ready again within 120 seconds
    And every tier runs its desired number of ready replicas within 120 seconds
