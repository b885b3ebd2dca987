@pressure
Feature: The service copes with a starved processor
  As a user of the to-do service
  I want prompt answers when it is busy
  So that the service never restarts itself into an outage

  Background:
    Given the to-do app is deployed on the suite's cluster

  Scenario: A back end starved of processor time keeps answering without restarts
    Given a reader that keeps reading the to-do list through the front end
    When the back end's containers are starved of CPU for 20 seconds
    Then the service answers within 2 seconds for 95 percent of requests while the back end is starved
    And no back-end replica was restarted
    And no CPU hog is left in any back-end replica
