@upgrades
Feature: New versions and new configuration roll out, and roll back, while users keep working
  As the operator of the to-do service
  I want to upgrade, roll back and reconfigure it under load
  So that a release never fails a user's request or loses a to-do

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a reader that keeps reading the to-do list through the front end
    And a writer that keeps adding uniquely named to-dos through the front end

  Scenario: The back end is upgraded and rolled back without a failed request or a lost write
    When the back end is upgraded to version "2.0-e2e"
    Then every back-end replica reports version "2.0-e2e" within 120 seconds
    When the back end is rolled back
    Then every back-end replica reports its previous version again within 120 seconds
    And no request failed during the upgrade and the rollback
    When the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored twice

  Scenario: The front end is upgraded and rolled back without a failed request or a lost write
    When the front end is upgraded to version "2.0-e2e"
    Then every front-end replica runs version "2.0-e2e" within 120 seconds
    When the front end is rolled back
    Then every front-end replica runs its previous version again within 120 seconds
    And no request failed during the upgrade and the rollback
    When the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored twice

  Scenario: The database restarts for an upgrade with a bounded outage and no lost write
    When the database is restarted for an upgrade
    Then the database serves again within 120 seconds
    And the service was unavailable for at most 90 seconds during the restart
    When the writer stops
    Then every write the app confirmed is stored, both as the app lists it and in the database itself
    And no to-do is stored twice

  Scenario: A changed front-end configuration rolls out without a failed request
    When the front end's configuration changes and the front end is rolled out
    Then every front-end replica runs the new configuration within 120 seconds
    And no request failed during the rollout
