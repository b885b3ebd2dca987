@network @kind_only
Feature: A slow database keeps the service answering
  As a user of the to-do service
  I want prompt answers while the database is slow to reach
  So that a slow network inside the service does not leave me waiting

  Background:
    Given the to-do app is deployed on the suite's cluster
    And a reader that keeps reading the to-do list through the front end

  Scenario: A slow database keeps the service answering
    When the back end's connection to the database is slowed by 200 milliseconds for 15 seconds
    Then the service answers within 2 seconds for 95 percent of requests while the database is slow
    And at least 99 percent of requests succeeded while the database was slow
    And nothing of the network fault is left in any pod

